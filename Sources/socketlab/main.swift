print("socketlab")
