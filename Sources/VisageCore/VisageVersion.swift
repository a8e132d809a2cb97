/// The release of this build, reported by `--version`, `doctor`, `/health` and recorded with outputs.
public enum VisageVersion {
    public static let string = "0.2.0"
}
