import CLinuxFiles
import Foundation
import ShelfTagTestSupport
import Testing

@testable import ShelfTagRender

/// Tags are written whole or not at all (see `BatchRenderer.writeAtomically`), by either path, and leave nothing else.
@Suite("Writing tag files")
struct FileWritingTests {
    private static func contents(of folder: URL) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path).sorted()
    }

    @Test("the temporary folder takes unnamed files, so the tests below write both ways")
    func unnamedFilesWork() throws {
        let descriptor = shelftag_open_unnamed_file(try newDirectory().path, 0o644)
        #expect(descriptor >= 0)
        close(descriptor)
    }

    @Test("a new file is written whole, with its mode, and leaves no temporary file", arguments: [false, true])
    func newFile(replacing: Bool) throws {
        let folder = try newDirectory()
        let path = folder.appendingPathComponent("03760000000000.png").path
        let bytes = Data((0..<50_000).map { UInt8(truncatingIfNeeded: $0 * 31) })
        try BatchRenderer.writeAtomically(bytes, to: path, replacing: replacing)
        #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == bytes)
        #expect(try Self.contents(of: folder) == ["03760000000000.png"])
        let mode = try #require(try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int)
        #expect(mode & 0o644 == 0o644)
    }

    @Test("an existing file is replaced, whether or not the run expected one", arguments: [false, true])
    func replacesExistingFile(replacing: Bool) throws {
        let folder = try newDirectory()
        let path = folder.appendingPathComponent("tag.png").path
        try Data("the old tag".utf8).write(to: URL(fileURLWithPath: path))
        try BatchRenderer.writeAtomically(Data("the new tag".utf8), to: path, replacing: replacing)
        #expect(try String(contentsOfFile: path, encoding: .utf8) == "the new tag")
        #expect(try Self.contents(of: folder) == ["tag.png"])
    }

    @Test("a folder that cannot be written is an error naming the file", arguments: [false, true])
    func unwritableFolder(replacing: Bool) throws {
        let path = "/proc/shelftag-cannot-write/tag.png"
        #expect(throws: RenderError.self) { try BatchRenderer.writeAtomically(Data("tag".utf8), to: path, replacing: replacing) }
        do {
            try BatchRenderer.writeAtomically(Data("tag".utf8), to: path, replacing: replacing)
        } catch {
            #expect(error.description.contains(path))
        }
    }
}
