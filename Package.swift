// swift-tools-version:6.0
// spacer-sim: function placement across library versions so that unikernel images share pages.
// Layout (DESIGN.md §6): core model and simulator know nothing about the CLI; strategies are one
// file each under strategies/; I/O sits at the edges.
import PackageDescription

let package = Package(
    name: "spacer-sim",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "spacer-sim", targets: ["spacer-sim"]),
        .library(name: "SpacerCore", targets: ["SpacerCore"]),
        .library(name: "SpacerSimulator", targets: ["SpacerSimulator"]),
        .library(name: "SpacerStrategies", targets: ["SpacerStrategies"]),
        // For the libFuzzer package in Fuzz/ (built only by scripts/fuzz.sh).
        .library(name: "SpacerELF", targets: ["SpacerELF"]),
        .library(name: "SpacerIO", targets: ["SpacerIO"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
    ],
    targets: [
        // zlib, for reading the committed gzip-compressed real function tables.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // Model: function tables, bodies, workloads, layouts, the strategy protocol, errors.
        .target(name: "SpacerCore"),
        // ELF64 relocatable objects and ar archives -> function tables.
        .target(name: "SpacerELF", dependencies: ["SpacerCore"]),
        // Page content keys, dedup models, metrics, lower bound. The single judge.
        .target(name: "SpacerSimulator", dependencies: ["SpacerCore"]),
        // CSV readers and writers, sidecar JSON, atomic writes.
        .target(name: "SpacerIO", dependencies: ["SpacerCore", "SpacerSimulator", "CZlib"]),
        // One file per placement strategy plus Registry.swift. Sees the model, never the simulator.
        .target(name: "SpacerStrategies", dependencies: ["SpacerCore"], path: "strategies"),
        // Commands; the only target that imports ArgumentParser.
        .target(name: "SpacerCLI", dependencies: [
            "SpacerCore", "SpacerELF", "SpacerSimulator", "SpacerIO", "SpacerStrategies",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "spacer-sim", dependencies: ["SpacerCLI"]),
        .target(name: "SpacerTestSupport", dependencies: ["SpacerCore"], path: "Tests/SpacerTestSupport"),
        .testTarget(name: "SpacerCoreTests", dependencies: ["SpacerCore", "SpacerIO", "SpacerTestSupport"]),
        .testTarget(name: "SpacerSimulatorTests", dependencies: ["SpacerCore", "SpacerSimulator", "SpacerStrategies", "SpacerTestSupport"]),
        .testTarget(name: "StrategyConformanceTests", dependencies: ["SpacerCore", "SpacerSimulator", "SpacerStrategies", "SpacerTestSupport"]),
        .testTarget(name: "SpacerELFTests", dependencies: ["SpacerCore", "SpacerELF", "SpacerIO", "SpacerSimulator", "SpacerStrategies"]),
        .testTarget(name: "SpacerCLITests", dependencies: ["SpacerCLI", "SpacerCore", "SpacerIO", "SpacerStrategies", "SpacerTestSupport"]),
    ]
)
