import Foundation

/// `visage diagnose --html`: one self-contained page — the recommendation, a table of every model and
/// setting, and per model a plot of faces per second against batch size (plain SVG, no script).
public enum DiagnoseHTML {
    public static func render(_ report: DiagnoseReport) -> String {
        var html = """
        <!DOCTYPE html>
        <html><head><meta charset="utf-8"><title>visage diagnose</title>
        <style>
        body{font-family:sans-serif;margin:2em;color:#222} table{border-collapse:collapse;font-size:13px}
        td,th{border:1px solid #ccc;padding:3px 8px;text-align:right} th{background:#f3f3f3} td.l{text-align:left}
        .plots{display:flex;flex-wrap:wrap;gap:16px} figure{margin:0} figcaption{font-size:13px}
        </style></head><body>
        <h1>visage diagnose</h1>
        <p>\(escape(report.machine))<br>ONNX Runtime \(escape(report.onnxRuntime)): \(escape(report.providers.joined(separator: ", ")))</p>

        """
        if let r = report.recommendation {
            html += "<p><b>Recommendation:</b> \(escape(r.summary)) — \(escape(r.reason))"
            if let file = report.recommendationFile { html += "<br>saved in <code>\(escape(file))</code>; <code>--accelerator auto</code> follows it" }
            html += "</p>\n"
        }
        html += "<table><tr><th>model</th><th>accelerator</th><th>precision</th><th>load ms</th><th>first run ms</th>"
            + "<th>min ms</th><th>median ms</th><th>p90 ms</th><th>GFLOP</th><th>GFLOP/s</th><th>best faces/s (batch)</th>"
            + "<th>allocs/run bound</th><th>allocs/run unbound</th><th>peak RSS MB</th><th>device MB</th></tr>\n"
        for r in report.results {
            let best = r.sweep.max { $0.itemsPerSecond < $1.itemsPerSecond }
            html += "<tr><td class=l>\(escape(r.model))</td><td class=l>\(r.accelerator)\(r.cudaGraph ? " (graph)" : "")</td><td class=l>\(r.precision)</td>"
                + "<td>\(f(r.loadMs))</td><td>\(f(r.firstRunMs))</td><td>\(f(r.steadyMs?.min))</td><td>\(f(r.steadyMs?.median))</td>"
                + "<td>\(f(r.steadyMs?.p90))</td><td>\(f(r.gflopPerItem))</td><td>\(f(r.gflopPerSecond))</td>"
                + "<td>\(best.map { "\(f($0.itemsPerSecond)) (\($0.batch))" } ?? "")</td><td>\(f(r.allocationsPerRun))</td>"
                + "<td>\(f(r.allocationsPerRunUnbound))</td><td>\(f(r.peakRSSMB))</td><td>\(f(r.deviceMemoryMB))</td></tr>\n"
        }
        html += "</table>\n<h2>Faces per second by batch size</h2>\n<div class=plots>\n"
        for r in report.results where !r.sweep.isEmpty {
            html += "<figure>\(plot(r.sweep))<figcaption>\(escape(r.model)) — \(r.accelerator), \(r.precision)</figcaption></figure>\n"
        }
        html += "</div>\n"
        let notes = report.notes + report.results.flatMap { r in r.notes.map { "\(r.model) (\(r.accelerator)): \($0)" } }
        if !notes.isEmpty {
            html += "<h2>Notes</h2><ul>\n" + notes.map { "<li>\(escape($0))</li>\n" }.joined() + "</ul>\n"
        }
        return html + "</body></html>\n"
    }

    /// Bars of items per second per batch size, labelled with the value and ms per item.
    static func plot(_ sweep: [DiagnoseReport.BatchPoint]) -> String {
        let width = 320.0, height = 180.0, left = 40.0, bottom = 24.0, top = 18.0
        let top_ = max(sweep.map(\.itemsPerSecond).max() ?? 1, 1e-9)
        let slot = (width - left - 8) / Double(max(sweep.count, 1))
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(width))\" height=\"\(Int(height))\" font-size=\"10\">"
        svg += "<line x1=\"\(left)\" y1=\"\(height - bottom)\" x2=\"\(width - 4)\" y2=\"\(height - bottom)\" stroke=\"#888\"/>"
        svg += "<text x=\"2\" y=\"12\">faces/s</text>"
        for (i, p) in sweep.enumerated() {
            let h = (height - bottom - top) * p.itemsPerSecond / top_
            let x = left + Double(i) * slot + slot * 0.15
            let y = height - bottom - h
            svg += "<rect x=\"\(r1(x))\" y=\"\(r1(y))\" width=\"\(r1(slot * 0.7))\" height=\"\(r1(h))\" fill=\"#4a7fb5\"/>"
            svg += "<text x=\"\(r1(x + slot * 0.35))\" y=\"\(r1(y - 3))\" text-anchor=\"middle\">\(f(p.itemsPerSecond))</text>"
            svg += "<text x=\"\(r1(x + slot * 0.35))\" y=\"\(r1(height - bottom + 12))\" text-anchor=\"middle\">b\(p.batch)</text>"
            svg += "<title>batch \(p.batch): \(f(p.medianMs)) ms per run, \(f(p.msPerItem)) ms per face</title>"
        }
        return svg + "</svg>"
    }

    private static func r1(_ v: Double) -> String { String(format: "%.1f", v) }

    private static func f(_ v: Double?) -> String {
        guard let v else { return "" }
        return v >= 100 ? String(format: "%.0f", v) : v >= 10 ? String(format: "%.1f", v) : String(format: "%.2f", v)
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}
