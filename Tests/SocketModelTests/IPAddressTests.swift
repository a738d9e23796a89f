import Testing
@testable import SocketModel
