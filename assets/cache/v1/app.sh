echo "app version 1"
