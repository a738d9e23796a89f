// Module ConnectX.
