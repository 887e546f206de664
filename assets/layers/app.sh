#!/bin/sh
echo "$GREETING from a layered image"
