echo "app, first version"
