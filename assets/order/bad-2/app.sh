echo "app, edited"
