#!/bin/sh
# "Installs" the dependencies listed in deps.txt into /app/vendor. Each one
# sleeps DOWNLOAD_SECONDS to stand for a download: offline, but as slow as
# a real `pip install -r requirements.txt` or `npm install`.
set -e
mkdir -p /app/vendor
grep -v '^#' deps.txt | while read -r name version; do
    [ -n "$name" ] || continue
    echo "downloading $name $version ..."
    sleep "${DOWNLOAD_SECONDS:-1}"
    mkdir -p "/app/vendor/$name"
    echo "$name $version" > "/app/vendor/$name/VERSION"
done
echo "installed $(ls /app/vendor | wc -l) dependencies"
