print("portpressure")
