print("hello from a layer")
