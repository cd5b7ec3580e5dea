// libFuzzer entry point: every feed reader on one input, written to a file as an import reads it. Built by `make
// fuzz`, not by SwiftPM.
import Foundation
import ShelfTagDomain
import ShelfTagFeeds

private let path = NSTemporaryDirectory() + "shelftag-fuzz-\(getpid()).feed"

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzFeeds(_ bytes: UnsafePointer<UInt8>, _ count: Int) -> CInt {
    guard FileManager.default.createFile(atPath: path, contents: Data(bytes: bytes, count: count)) else { fatalError("cannot write \(path)") }
    let name = "fuzz.feed"
    _ = try? FeedKind.detect(path: path, displayName: name)
    try? ProductFeed.read(path: path, displayName: name, row: { _, _ in }, rejected: { _ in })
    try? InventoryFeed.read(path: path, displayName: name, row: { _, _ in }, rejected: { _ in })
    try? ReviewFeed.read(path: path, displayName: name, row: { _, _ in }, rejected: { _ in })
    try? StoresFile.read(path: path, displayName: name, row: { _, _ in }, rejected: { _ in })
    try? AssociatesFile.read(path: path, displayName: name, row: { _, _ in }, rejected: { _ in })
    return 0
}
