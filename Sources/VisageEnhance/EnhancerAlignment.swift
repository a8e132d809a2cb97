import VisageCore
import VisageMedia

/// Aligns a face to an enhancer's template the way that model's reference code does.
public enum EnhancerAlignment {
    /// The similarity transform taking the 5 keypoints (frame pixels) onto the profile's template
    /// (crop pixels): LMEDS for GFPGAN (facexlib), RANSAC with threshold 100 for GPEN/CodeFormer (FaceFusion).
    public static func transform(keypoints: [Point], profile: EnhancerProfile) throws -> Affine2D {
        guard keypoints.count == 5 else {
            throw VisageError.invalidArgument("face enhancement needs the 5 detector keypoints per face, got \(keypoints.count)")
        }
        guard keypoints.allSatisfy({ $0.x.isFinite && $0.y.isFinite }) else {
            throw VisageError.invalidArgument("face keypoints contain NaN or infinity")
        }
        let m: Affine2D
        switch profile.fit {
        case .lmeds: m = try ImageOps.estimateAffinePartial2D(from: keypoints, to: profile.templatePoints, method: .lmeds)
        case .ransac(let threshold):
            m = try ImageOps.estimateAffinePartial2D(from: keypoints, to: profile.templatePoints, method: .ransac,
                                                     reprojectionThreshold: threshold)
        }
        guard m.inverted != nil, m.m.allSatisfy(\.isFinite) else {
            throw VisageError.invalidArgument("degenerate face keypoints: no alignment to the \(profile.modelID) template")
        }
        return m
    }

    /// The profile's square crop of `frame` through `transform` (bilinear, the profile's border).
    public static func crop(_ frame: Image, transform: Affine2D, profile: EnhancerProfile) throws -> Image {
        let crop = Image(width: profile.size, height: profile.size, channels: 3)
        try self.crop(frame, transform: transform, profile: profile, into: crop)
        return crop
    }

    /// The same into a caller's `profile.size`² 8-bit BGR buffer.
    public static func crop(_ frame: Image, transform: Affine2D, profile: EnhancerProfile, into crop: Image) throws {
        switch profile.border {
        case .constant(let colour):
            try ImageOps.warpAffine(frame, transform, into: crop, interpolation: .linear, border: .constant, borderValue: colour)
        case .replicate:
            try ImageOps.warpAffine(frame, transform, into: crop, interpolation: .linear, border: .replicate)
        }
    }
}
