import Testing
@testable import VisageLive
