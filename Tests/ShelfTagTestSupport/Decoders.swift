import CPNG
import Foundation

/// The symbols `zbarimg` (Debian's zbar-tools) reads in each file: `["QR-Code:https://…", "EAN-13:…"]`.
public func zbarSymbols(in files: [String]) async throws -> [String: [String]] {
    try await offThePool { try zbarSymbolsBlocking(in: files) }
}

private func zbarSymbolsBlocking(in files: [String]) throws -> [String: [String]] {
    var symbols: [String: [String]] = [:]
    // zbarimg handles many files per run; its XML names the file each symbol came from.
    for chunk in stride(from: 0, to: files.count, by: 200).map({ Array(files[$0..<min($0 + 200, files.count)]) }) {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/zbarimg")
        process.arguments = ["--xml", "-q"] + chunk
        let output = Pipe()
        process.standardOutput = output
        process.standardError = FileHandle.nullDevice
        try process.run()
        let data = output.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: data, as: UTF8.self)
        var current = ""
        for line in text.split(separator: "\n") {
            if let start = line.range(of: "<source href='"), let end = line.range(of: "'>", range: start.upperBound..<line.endIndex) {
                current = String(line[start.upperBound..<end.lowerBound])
                symbols[current, default: []] = symbols[current] ?? []
            } else if let typeStart = line.range(of: "<symbol type='"), let typeEnd = line.range(of: "'", range: typeStart.upperBound..<line.endIndex),
                let dataStart = line.range(of: "<data><![CDATA["), let dataEnd = line.range(of: "]]></data>")
            {
                symbols[current, default: []].append(line[typeStart.upperBound..<typeEnd.lowerBound] + ":" + line[dataStart.upperBound..<dataEnd.lowerBound])
            }
        }
    }
    return symbols
}

/// What a PNG's header chunks say.
public struct PNGHeader: Equatable {
    public let width: Int
    public let height: Int
    public let bitDepth: Int
    public let colourType: Int
    /// pHYs pixels per metre (x, y) and unit (1: metre); nil without a pHYs chunk.
    public let pixelsPerMetre: (x: Int, y: Int, unit: Int)?

    public static func == (lhs: PNGHeader, rhs: PNGHeader) -> Bool {
        lhs.width == rhs.width && lhs.height == rhs.height && lhs.bitDepth == rhs.bitDepth && lhs.colourType == rhs.colourType
            && lhs.pixelsPerMetre?.x == rhs.pixelsPerMetre?.x && lhs.pixelsPerMetre?.y == rhs.pixelsPerMetre?.y
    }

    /// Reads the header chunks of a PNG file; nil when it is not one.
    public init?(_ data: Data) {
        let bytes = [UInt8](data)
        guard bytes.count > 33, let chunks = pngChunks(bytes) else { return nil }
        func u32(_ at: Int) -> Int { bytes[at..<at + 4].reduce(0) { $0 << 8 | Int($1) } }
        guard let header = chunks.first(where: { $0.type == "IHDR" })?.data.lowerBound else { return nil }
        (width, height, bitDepth, colourType) = (u32(header), u32(header + 4), Int(bytes[header + 8]), Int(bytes[header + 9]))
        pixelsPerMetre = chunks.first { $0.type == "pHYs" }.map {
            (x: u32($0.data.lowerBound), y: u32($0.data.lowerBound + 4), unit: Int(bytes[$0.data.lowerBound + 8]))
        }
    }
}

/// The chunks of a PNG file up to IEND, each with where its data lies; nil without the PNG signature.
public func pngChunks(_ bytes: [UInt8]) -> [(type: String, data: Range<Int>)]? {
    guard bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { return nil }
    var chunks: [(type: String, data: Range<Int>)] = []
    var offset = 8
    while offset + 8 <= bytes.count {
        let length = bytes[offset..<offset + 4].reduce(0) { $0 << 8 | Int($1) }
        let type = String(decoding: bytes[offset + 4..<offset + 8], as: UTF8.self)
        chunks.append((type, offset + 8..<min(offset + 8 + length, bytes.count)))
        if type == "IEND" { break }
        offset += 12 + length
    }
    return chunks
}

/// Decodes any PNG to 8-bit grey pixels with libpng's simplified API; nil when it cannot.
public func decodeGreyPNG(_ data: Data) -> (width: Int, height: Int, pixels: [UInt8])? {
    var image = png_image()
    image.version = UInt32(PNG_IMAGE_VERSION)
    let began = data.withUnsafeBytes { png_image_begin_read_from_memory(&image, $0.baseAddress, data.count) }
    guard began != 0 else { return nil }
    image.format = UInt32(PNG_FORMAT_GRAY)
    var pixels = [UInt8](repeating: 0, count: Int(image.width * image.height))
    let finished = pixels.withUnsafeMutableBytes { png_image_finish_read(&image, nil, $0.baseAddress, 0, nil) }
    png_image_free(&image)
    guard finished != 0 else { return nil }
    return (Int(image.width), Int(image.height), pixels)
}
