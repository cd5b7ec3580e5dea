import ShelfTagTestSupport
import Testing

/// The pages people look at, laid out by a real browser: `Tests/chromium_pages.py --check` serves the samples with the
/// built `shelftag` and loads each shopper page at 390 and 320 px and each work-view page at 1024, 768 and 360 px, in every
/// language of `Templates/messages`, in headless Chromium, and checks the layout and what WCAG 2.2 AA lets a program measure.
@Suite("Page layout in headless Chromium")
struct PageLayoutTests {
    @Test("no page runs past the window or its margin or cuts its content, the work header fits one line at 1024 px, WCAG AA measurable rules hold")
    func pagesFitTheirScreens() async throws {
        let run = try await runTool(
            try testPython(),
            [CommandLine.repository.appendingPathComponent("Tests/chromium_pages.py").path, "--check", "--shelftag", CommandLine.binary.path])
        #expect(run.status == 0, "\(run.output)\(run.errors)")
        // The summary names how many pages were looked at: a run that loaded none cannot pass.
        #expect(run.output.contains("198 pages in 6 languages") && run.output.contains("no problem found"), "\(run.output)")
    }
}
