// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "ShelfTag",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "shelftag", targets: ["shelftag"])
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.0.0"),
    ],
    targets: [
        // Values and rules every channel shares: Foundation only.
        .target(name: "ShelfTagDomain"),
        // Streaming readers of the retailer formats, each row to a domain value or a located error.
        .target(name: "ShelfTagFeeds", dependencies: ["ShelfTagDomain"]),
        // The product reference behind a small interface; the only module that imports GRDB.
        .target(
            name: "ShelfTagStorage",
            dependencies: ["ShelfTagDomain", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        // Feeds into storage: kind detection, dependency order, one transaction.
        .target(name: "ShelfTagImport", dependencies: ["ShelfTagDomain", "ShelfTagFeeds", "ShelfTagStorage"]),
        .executableTarget(
            name: "shelftag",
            dependencies: [
                "ShelfTagDomain", "ShelfTagStorage", "ShelfTagImport",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: generates inputs, runs the release binary, prints figures beside a baseline.
        .executableTarget(name: "ShelfTagBench", dependencies: ["ShelfTagDomain"]),
        .testTarget(name: "ShelfTagDomainTests", dependencies: ["ShelfTagDomain"]),
        .testTarget(name: "ShelfTagFeedsTests", dependencies: ["ShelfTagFeeds"]),
        .testTarget(
            name: "ShelfTagImportTests",
            dependencies: ["ShelfTagImport", "ShelfTagStorage", .product(name: "GRDB", package: "GRDB.swift")]
        ),
        .testTarget(name: "shelftagTests", dependencies: ["shelftag"]),
    ]
)
