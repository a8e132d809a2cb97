import Foundation
import VisageCore
import VisageMedia

/// Faces drawn on a copy of a frame, for `--draw` outputs and the live "detect only" view.
public enum FaceAnnotation {
    /// Detector output: box, 5 keypoints, score.
    public static func draw(_ faces: [DetectedFace], on image: Image) {
        let thickness = max(1, min(image.width, image.height) / 300)
        let colors: [Color] = [.red, .green, .cyan, .yellow, .red]
        for face in faces {
            Drawing.rectangle(image, face.box, color: .green, thickness: thickness)
            for (i, p) in face.keypoints.enumerated() {
                Drawing.circle(image, p, radius: thickness + 1, color: colors[i % colors.count])
            }
            Drawing.text(image, String(format: "%.2f", face.score), at: Point(face.box.x1, max(12, face.box.y1 - 4)),
                         scale: Double(thickness) * 0.5, color: .green, thickness: thickness)
        }
    }

    /// Analysis output: box (cyan when tracked), 68 landmarks, track id and head pose.
    public static func draw(_ faces: [AnalyzedFace], on image: Image) {
        let thickness = max(1, min(image.width, image.height) / 400)
        for face in faces {
            Drawing.rectangle(image, face.box, color: face.tracked ? .cyan : .green, thickness: thickness)
            for p in face.landmarks ?? [] { Drawing.circle(image, p, radius: thickness, color: .yellow) }
            var label = face.id.map { "#\($0)" } ?? String(format: "%.2f", face.score)
            if let pose = face.pose { label += String(format: " y%.0f p%.0f r%.0f", pose.yaw, pose.pitch, pose.roll) }
            Drawing.text(image, label, at: Point(face.box.x1, max(12, face.box.y1 - 4)), scale: 0.4 * Double(thickness + 1),
                         color: .green, thickness: thickness)
        }
    }
}
