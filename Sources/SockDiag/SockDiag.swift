// Module SockDiag.
