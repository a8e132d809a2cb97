import Testing
@testable import VisageCLNF
