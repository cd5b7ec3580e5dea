import CLinuxFiles
import Foundation
import ShelfTagTestSupport
import Testing

@testable import ShelfTagRender

/// Tags are written whole or not at all (see `OutputFolder`), by every path, and leave nothing else.
@Suite("Writing tag files")
struct FileWritingTests {
    /// Each way a file gets its name: unnamed and linked directly, unnamed and linked through /proc, or renamed over
    /// earlier files (a folder that held files when the run began).
    static let ways: [(linksOpenFiles: Bool, folderHadFiles: Bool)] = [(true, false), (false, false), (true, true)]

    private static func contents(of folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    /// A new folder, holding an earlier file when asked.
    private static func folder(hadFiles: Bool) throws -> URL {
        let folder = try newDirectory()
        if hadFiles { try Data("earlier".utf8).write(to: folder.appendingPathComponent("earlier.png")) }
        return folder
    }

    @Test("the temporary folder takes unnamed files and links them directly, so the tests below write every way")
    func unnamedFilesWork() async throws {
        let folder = try newDirectory()
        let directory = open(folder.path, O_RDONLY | O_DIRECTORY)
        defer { close(directory) }
        let descriptor = shelftag_open_unnamed_file(directory, 0o644)
        #expect(descriptor >= 0)
        #expect(shelftag_link_open_file(descriptor, directory, "linked") == 0)
        close(descriptor)
        #expect(try Self.contents(of: folder) == ["linked"])
    }

    @Test("a new file is written whole, with its mode, and leaves no temporary file", arguments: ways)
    func newFile(linksOpenFiles: Bool, folderHadFiles: Bool) async throws {
        let folder = try Self.folder(hadFiles: folderHadFiles)
        let output = try OutputFolder(path: folder.path, linksOpenFiles: linksOpenFiles)
        #expect(output.replacing == folderHadFiles)
        let bytes = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 * 31) })
        try output.write(bytes, name: "03760000000000.png")
        let path = folder.appendingPathComponent("03760000000000.png").path
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        #expect(try Self.contents(of: folder) == (folderHadFiles ? ["03760000000000.png", "earlier.png"] : ["03760000000000.png"]))
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o644 == 0o644)
    }

    @Test("an existing file is replaced, whether or not the run expected one", arguments: ways)
    func replacesExistingFile(linksOpenFiles: Bool, folderHadFiles: Bool) async throws {
        let folder = try Self.folder(hadFiles: folderHadFiles)
        let output = try OutputFolder(path: folder.path, linksOpenFiles: linksOpenFiles)
        // Appears after the folder was opened: a run that found it empty expects no file of that name.
        try Data("the old tag".utf8).write(to: folder.appendingPathComponent("tag.png"))
        try output.write(Data("the new tag".utf8), name: "tag.png")
        #expect(try String(contentsOfFile: folder.appendingPathComponent("tag.png").path, encoding: .utf8) == "the new tag")
        #expect(try Self.contents(of: folder) == (folderHadFiles ? ["earlier.png", "tag.png"] : ["tag.png"]))
    }

    @Test("a folder that cannot be made is an error naming it; one that cannot be written, an error naming the file")
    func unwritableFolder() async throws {
        let missing = "/proc/shelftag-cannot-write"
        #expect {
            try OutputFolder(path: missing)
        } throws: { error in
            (error as? RenderError)?.description.contains(missing) == true
        }
        let folder = try newDirectory()
        let output = try OutputFolder(path: folder.path)
        // A name no file system takes: one path component longer than NAME_MAX.
        let name = String(repeating: "x", count: 300) + ".png"
        #expect {
            try output.write(Data("tag".utf8), name: name)
        } throws: { error in
            (error as? RenderError)?.description.contains("\(folder.path)/\(name)") == true
        }
        #expect(try Self.contents(of: folder).isEmpty)
    }
}
