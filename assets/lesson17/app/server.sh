#!/bin/sh
# The app: what changes most often.
echo "app version 1, with: $(cat /app/vendor/*/VERSION | tr '\n' ' ')"
