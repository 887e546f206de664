echo "app version 2"
