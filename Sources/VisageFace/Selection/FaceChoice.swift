import Foundation
import VisageCore

/// Which face of a photo to use where one is expected (a swap source, a photo to compare): the one the
/// user numbered, or else the largest. Faces are numbered 1… in the order `visage detect` and
/// `visage analyze` list them.
public struct FaceChoice: Sendable, Codable, Equatable {
    /// 1-based face number; nil: the largest face.
    public var number: Int?
    public init(number: Int? = nil) { self.number = number }

    /// What was chosen, so front ends can say it when the photo had several faces.
    public struct Made: Sendable, Codable, Equatable {
        public var path: String
        /// 1-based number of the face used.
        public var number: Int
        public var faceCount: Int
        public var box: Box
        /// True when no number was given and the largest face was taken.
        public var automatic: Bool

        enum CodingKeys: String, CodingKey {
            case path, number, box, automatic
            case faceCount = "face_count"
        }
        /// "photo.jpg has 2 faces; using face #2 (the largest, box 120,80-260,240)".
        public var summary: String {
            let b = String(format: "%.0f,%.0f-%.0f,%.0f", box.x1, box.y1, box.x2, box.y2)
            return "\(path) has \(faceCount) faces; using face #\(number) (\(automatic ? "the largest, " : "")box \(b))"
        }
    }

    /// Picks from `faces` (in detection order); throws when there is no face or the number is out of range.
    public func pick<F>(_ faces: [F], box: (F) -> Box, in path: String) throws -> (face: F, made: Made) {
        guard !faces.isEmpty else { throw VisageError.invalidImage(path: path, reason: "no face found") }
        let index: Int
        if let number {
            guard (1...faces.count).contains(number) else {
                throw VisageError.invalidArgument("\(path) has \(faces.count) face\(faces.count == 1 ? "" : "s"); face #\(number) does not exist (faces are numbered 1 to \(faces.count) as `visage detect` lists them)")
            }
            index = number - 1
        } else {
            index = faces.indices.max { box(faces[$0]).area < box(faces[$1]).area }!
        }
        return (faces[index], Made(path: path, number: index + 1, faceCount: faces.count, box: box(faces[index]), automatic: number == nil))
    }
}
