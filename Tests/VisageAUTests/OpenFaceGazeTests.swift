import Foundation
import Testing
@testable import VisageAU

/// OpenFace's gaze from its own camera-space eye and face landmarks: our EstimateGaze arithmetic, fed the
/// reference CSV's eye_lmk_X/Y/Z, X/Y/Z and pose_R columns, gives its gaze columns.
@Suite struct OpenFaceGazeTests {
    @Test func gazeFromReferenceLandmarksMatchesOpenFace() throws {
        let table = try OpenFaceCSVTable(contentsOf: OpenFaceCSVTests.referenceCSV)
        func columns(_ names: [String]) throws -> [[Double]] { try names.map { try table.column($0) } }
        let eye = try columns(["X", "Y", "Z"].flatMap { a in (0..<56).map { "eye_lmk_\(a)_\($0)" } })
        let face = try columns(["X", "Y", "Z"].flatMap { a in (0..<68).map { "\(a)_\($0)" } })
        let pose = try columns(["pose_Rx", "pose_Ry", "pose_Rz"])
        let expected = try columns(["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y"])
        var worst = 0.0, total = 0.0, count = 0
        for row in 0..<table.rowCount {
            let face3D = face.map { Float($0[row]) }
            let rotation = PDMRotation.matrix(rx: Float(pose[0][row]), ry: Float(pose[1][row]), rz: Float(pose[2][row]))
            func eye3D(_ first: Int) -> [Float] {
                (0..<3).flatMap { axis in (0..<28).map { Float(eye[axis * 56 + first + $0][row]) } }
            }
            let g0 = OpenFaceGaze.gaze(eye3D: eye3D(0), face3D: face3D, rotation: rotation, eyeIndex: 0)
            let g1 = OpenFaceGaze.gaze(eye3D: eye3D(28), face3D: face3D, rotation: rotation, eyeIndex: 1)
            let ours = [g0.x, g0.y, g0.z, g1.x, g1.y, g1.z]
            for k in 0..<6 {
                let d = abs(Double(ours[k]) - expected[k][row])
                worst = max(worst, d); total += d; count += 1
            }
        }
        // The inputs are rounded to 0.1 mm in the CSV; the unit gaze vectors follow to about 1e-2.
        #expect(total / Double(count) < 0.005, "mean |Δgaze| \(total / Double(count)) over \(table.rowCount) frames")
        #expect(worst < 0.02, "max |Δgaze| \(worst)")
    }

    @Test func gazeAngleIsTheMeanDirectionsAngle() throws {
        let table = try OpenFaceCSVTable(contentsOf: OpenFaceCSVTests.referenceCSV)
        let g = try ["gaze_0_x", "gaze_0_y", "gaze_0_z", "gaze_1_x", "gaze_1_y", "gaze_1_z", "gaze_angle_x", "gaze_angle_y"].map { try table.column($0) }
        for row in stride(from: 0, to: table.rowCount, by: 7) {
            let mx = (g[0][row] + g[3][row]) / 2, my = (g[1][row] + g[4][row]) / 2, mz = (g[2][row] + g[5][row]) / 2
            #expect(abs(atan2(mx, -mz) - g[6][row]) < 0.002 && abs(atan2(my, -mz) - g[7][row]) < 0.002, "row \(row)")
        }
    }

    @Test func rayMissingTheEyeballPointsStraightAhead() {
        let miss = OpenFaceGaze.raySphereIntersection(direction: SIMD3(1, 0, 0), centre: SIMD3(0, 0, 600), radius: 12)
        #expect(miss == SIMD3(0, 0, -1))
        let hit = OpenFaceGaze.raySphereIntersection(direction: SIMD3(0, 0, 1), centre: SIMD3(0, 0, 600), radius: 12)
        #expect(abs(hit.z - 588) < 1e-3, "front of the eyeball: \(hit)")
    }
}
