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
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.0.0"),
        // 1.11: LogHandler.log(event:) (the tests capture start-up warnings with it).
        .package(url: "https://github.com/apple/swift-log", from: "1.11.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.0.0"),
        // The PostgreSQL driver of the storage interface (chains: many resolvers on one reference).
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.81.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.25.0"),
        .package(url: "https://github.com/apple/swift-http-types", from: "1.0.0"),
        // Already Hummingbird's; named for NIOHTTPTypes, the request parts the header-read timeout handler sees.
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.20.0"),
        // SHA-256 and constant-time comparison for tokens and secrets (already PostgresNIO's, for SCRAM).
        .package(url: "https://github.com/apple/swift-crypto", from: "3.9.0"),
        // Parity's live checks: kept-alive connections over NIO (URLSession on Linux spent 660 µs of CPU a request).
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        // gzip of cached answers, made once per answer (zlib, Hummingbird's author's NIO wrapper): phones on a store's
        // weak signal and a chain's CDN carry half the bytes.
        .package(url: "https://github.com/adam-fowler/compress-nio", from: "1.5.0"),
    ],
    targets: [
        // Values and rules every channel shares: Foundation only.
        .target(name: "ShelfTagDomain"),
        // Secrets hashed and compared, content fingerprinted: the one module that imports swift-crypto.
        .target(name: "ShelfTagSecrets", dependencies: [.product(name: "Crypto", package: "swift-crypto")]),
        // Streaming readers of the retailer formats, each row to a domain value or a located error.
        .target(name: "ShelfTagFeeds", dependencies: ["ShelfTagDomain"]),
        // Process-wide SQLite settings that only C can make (sqlite3_config is variadic).
        .systemLibrary(name: "CSQLiteSettings", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        // The product reference behind one interface, two drivers: the only module that imports GRDB or PostgresNIO.
        .target(
            name: "ShelfTagStorage",
            dependencies: [
                "ShelfTagDomain", "CSQLiteSettings", .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"), .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        // Feeds into storage: kind detection, dependency order, one transaction.
        .target(name: "ShelfTagImport", dependencies: ["ShelfTagDomain", "ShelfTagFeeds", "ShelfTagStorage"]),
        // C libraries, seen through pkg-config; only ShelfTagRender imports them.
        .systemLibrary(name: "CQRencode", pkgConfig: "libqrencode", providers: [.apt(["libqrencode-dev"])]),
        .systemLibrary(name: "CPNG", pkgConfig: "libpng", providers: [.apt(["libpng-dev"])]),
        .systemLibrary(name: "CLinuxFiles"),
        .systemLibrary(name: "CFreeType", pkgConfig: "freetype2", providers: [.apt(["libfreetype-dev"])]),
        .systemLibrary(name: "CFontconfig", pkgConfig: "fontconfig", providers: [.apt(["libfontconfig-dev"])]),
        // cairo's PDF surface: the engine that writes a run's PDF, with fonts through its FreeType back end.
        .systemLibrary(name: "CCairo", pkgConfig: "cairo-ft", providers: [.apt(["libcairo2-dev"])]),
        // Tags: templates, QR code, barcodes, text; PNG, PDF and ZPL; sheets, the parallel batch renderer.
        .target(
            name: "ShelfTagRender",
            dependencies: [
                "ShelfTagDomain", "CQRencode", "CPNG", "CFreeType", "CFontconfig", "CCairo", "CLinuxFiles",
                .product(name: "Mustache", package: "swift-mustache"),
            ]
        ),
        // A store's print run: selection (all, stale, chosen GTINs), rendering, manifest, print ledger; office printers
        // over IPP.
        .target(
            name: "ShelfTagPrinting",
            dependencies: [
                "ShelfTagDomain", "ShelfTagStorage", "ShelfTagRender", "ShelfTagHTTPClient",
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
            ]),
        // The resolver: Digital Link routes, store page, JSON, linksets, store-update API, scans, metrics.
        .target(
            name: "ShelfTagServer",
            dependencies: [
                "ShelfTagDomain", "ShelfTagStorage", "ShelfTagRender", "ShelfTagSecrets",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        // AsyncHTTPClient's failures in words, for parity's live checks and office printers.
        .target(
            name: "ShelfTagHTTPClient",
            dependencies: [
                .product(name: "AsyncHTTPClient", package: "async-http-client"), .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"), .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]
        ),
        // Price parity for CI: rules over the reference, the print ledger, web feeds, a live resolver and web pages.
        .target(
            name: "ShelfTagParity",
            dependencies: [
                "ShelfTagDomain", "ShelfTagStorage", "ShelfTagFeeds", "ShelfTagHTTPClient", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]
        ),
        .executableTarget(
            name: "shelftag",
            dependencies: [
                "ShelfTagDomain", "ShelfTagStorage", "ShelfTagFeeds", "ShelfTagImport", "ShelfTagRender", "ShelfTagPrinting", "ShelfTagServer",
                "ShelfTagParity", "ShelfTagSecrets",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]
        ),
        // `make bench`: generates inputs, runs the release binary, prints figures beside a baseline.
        .executableTarget(
            name: "ShelfTagBench",
            dependencies: ["ShelfTagDomain", "ShelfTagStorage", .product(name: "ArgumentParser", package: "swift-argument-parser")]
        ),
        .testTarget(name: "ShelfTagDomainTests", dependencies: ["ShelfTagDomain"], exclude: ["Fixtures"]),
        .testTarget(name: "ShelfTagSecretsTests", dependencies: ["ShelfTagSecrets"]),
        .testTarget(name: "ShelfTagFeedsTests", dependencies: ["ShelfTagFeeds", "ShelfTagDomain"]),
        // One suite, run against both drivers: a behaviour cannot drift between SQLite and PostgreSQL.
        .testTarget(
            name: "ShelfTagStorageTests",
            dependencies: ["ShelfTagStorage", "ShelfTagImport", "ShelfTagDomain", "ShelfTagTestSupport", .product(name: "GRDB", package: "GRDB.swift")]),
        // Sample loading and real decoders (zbarimg, libpng) shared by the tests.
        .target(
            name: "ShelfTagTestSupport",
            dependencies: [
                "ShelfTagDomain", "ShelfTagImport", "ShelfTagStorage", "ShelfTagRender", "CPNG",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/ShelfTagTestSupport"),
        .testTarget(
            name: "ShelfTagImportTests",
            dependencies: [
                "ShelfTagImport", "ShelfTagStorage", "ShelfTagDomain", "ShelfTagFeeds", "ShelfTagTestSupport", .product(name: "GRDB", package: "GRDB.swift"),
            ]
        ),
        .testTarget(
            name: "ShelfTagRenderTests",
            dependencies: [
                "ShelfTagRender", "ShelfTagPrinting", "ShelfTagStorage", "ShelfTagDomain", "ShelfTagTestSupport", "CPNG", "CQRencode", "CLinuxFiles",
            ],
            exclude: ["References"]
        ),
        // A store's print run: selection, formats, manifest, ledger, and phones reading what it prints.
        .testTarget(
            name: "ShelfTagPrintingTests",
            dependencies: ["ShelfTagPrinting", "ShelfTagRender", "ShelfTagStorage", "ShelfTagDomain", "ShelfTagFeeds", "ShelfTagTestSupport"]
        ),
        .testTarget(
            name: "ShelfTagServerTests",
            dependencies: [
                "ShelfTagServer", "ShelfTagImport", "ShelfTagPrinting", "ShelfTagRender", "ShelfTagStorage", "ShelfTagDomain", "ShelfTagTestSupport",
                "ShelfTagSecrets",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                // A client that decompresses nothing itself, and the decoder to read what it got.
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "CompressNIO", package: "compress-nio"),
            ]
        ),
        .testTarget(
            name: "ShelfTagParityTests",
            dependencies: [
                "ShelfTagParity", "ShelfTagServer", "ShelfTagPrinting", "ShelfTagRender", "ShelfTagStorage", "ShelfTagDomain", "ShelfTagTestSupport",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ]
        ),
        .testTarget(name: "shelftagTests", dependencies: ["shelftag", "ShelfTagTestSupport"], exclude: ["Help"]),
    ]
)
