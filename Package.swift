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
        .library(name: "SpacerSynth", targets: ["SpacerSynth"]),
        // For the libFuzzer package in Fuzz/ (built only by scripts/fuzz.sh).
        .library(name: "SpacerELF", targets: ["SpacerELF"]),
        .library(name: "SpacerIO", targets: ["SpacerIO"]),
        // The experiment harness: for the CLI, the Benchmarks/ package, the fuzzers and tests.
        .library(name: "SpacerExperiments", targets: ["SpacerExperiments"]),
        .library(name: "SpacerSolvers", targets: ["SpacerSolvers"]),
        // Workload builders and a seeded generator, for the Benchmarks/ package.
        .library(name: "SpacerTestSupport", targets: ["SpacerTestSupport"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        // SHA-256 of every input and output file in the provenance sidecars.
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
    ],
    targets: [
        // zlib, for reading the committed gzip-compressed real function tables.
        .systemLibrary(name: "CZlib", path: "Sources/CZlib",
                       providers: [.apt(["zlib1g-dev"])]),
        // GLPK 5 (libglpk-dev): no pkg-config file, so a module map that links `glpk`.
        .systemLibrary(name: "CGLPK", path: "Sources/CGLPK",
                       providers: [.apt(["libglpk-dev"])]),
        // OpenBLAS (libopenblas-dev) with its LAPACK routines (dsyevd_). pkg-config adds the
        // library folder; the module map links `openblas` and declares what it uses, so a
        // machine without pkg-config still builds.
        .systemLibrary(name: "COpenBLAS", path: "Sources/COpenBLAS", pkgConfig: "openblas",
                       providers: [.apt(["libopenblas-dev"])]),
        // Model: function tables, bodies, workloads, layouts, the strategy protocol, errors.
        .target(name: "SpacerCore"),
        // ELF64 relocatable objects and ar archives -> function tables.
        .target(name: "SpacerELF", dependencies: ["SpacerCore"]),
        // Page content keys, dedup models, metrics, lower bound. The single judge.
        .target(name: "SpacerSimulator", dependencies: ["SpacerCore"]),
        // CSV readers and writers, layout files, sidecar JSON, atomic writes. Not the simulator, so
        // that the strategies may read layout files (`external`) without seeing the judge.
        .target(name: "SpacerIO", dependencies: ["SpacerCore", "CZlib"]),
        // The only target that calls GLPK and LAPACK: validated MIP solves, symmetric eigenproblems.
        .target(name: "SpacerSolvers", dependencies: ["SpacerCore", "CGLPK", "COpenBLAS"]),
        // One file per placement strategy plus Registry.swift. Sees the model, never the simulator;
        // SpacerIO for the layout files an `external` program writes.
        .target(name: "SpacerStrategies", dependencies: ["SpacerCore", "SpacerIO", "SpacerSolvers"], path: "strategies"),
        // Synthetic version histories with ground truth (the `generate` model); no CLI, so tests
        // and the benchmark use it directly.
        .target(name: "SpacerSynth", dependencies: ["SpacerCore"]),
        // Embeds the tool's git commit (and whether the build was dirty) into SpacerExperiments.
        .plugin(name: "BuildInfoPlugin", capability: .buildTool()),
        // The experiment harness (no ArgumentParser): validated run configuration, strategy specs,
        // place -> simulate -> rows, the result schema (CSV, JSON, terminal table), sweeps,
        // provenance sidecars and the output policy. CLI, benchmarks, fuzzers and tests share it.
        .target(name: "SpacerExperiments", dependencies: [
            "SpacerCore", "SpacerIO", "SpacerSimulator", "SpacerStrategies", "SpacerSynth",
            .product(name: "Crypto", package: "swift-crypto"),
        ], plugins: ["BuildInfoPlugin"]),
        // Running images on the real mechanisms (issue 13, `spacer-sim run`): KSM control with
        // saved/restored settings, instances through tools/spacer-loader, /proc sampling. Not
        // the model or simulator; the CLI and tests share it.
        .target(name: "SpacerRuntime", dependencies: ["SpacerCore", "SpacerELF", "SpacerExperiments"]),
        // Commands and their shared option groups; the only target that imports ArgumentParser.
        .target(name: "SpacerCLI", dependencies: [
            "SpacerCore", "SpacerELF", "SpacerSimulator", "SpacerIO", "SpacerStrategies", "SpacerSynth", "SpacerExperiments", "SpacerRuntime",
            .product(name: "ArgumentParser", package: "swift-argument-parser"),
        ]),
        .executableTarget(name: "spacer-sim", dependencies: ["SpacerCLI"]),
        .target(name: "SpacerTestSupport", dependencies: ["SpacerCore"], path: "Tests/SpacerTestSupport"),
        .testTarget(name: "SpacerCoreTests", dependencies: ["SpacerCore", "SpacerIO", "SpacerTestSupport"]),
        .testTarget(name: "SpacerSimulatorTests", dependencies: ["SpacerCore", "SpacerSimulator", "SpacerStrategies", "SpacerTestSupport"]),
        .testTarget(name: "StrategyConformanceTests", dependencies: ["SpacerCore", "SpacerSimulator", "SpacerStrategies", "SpacerTestSupport"]),
        .testTarget(name: "SpacerELFTests", dependencies: ["SpacerCore", "SpacerELF", "SpacerIO", "SpacerSimulator", "SpacerStrategies"]),
        .testTarget(name: "SpacerCLITests", dependencies: ["SpacerCLI", "SpacerExperiments", "SpacerRuntime", "SpacerCore", "SpacerIO", "SpacerSimulator", "SpacerStrategies", "SpacerSynth", "SpacerTestSupport"]),
        .testTarget(name: "SpacerSynthTests", dependencies: ["SpacerSynth", "SpacerExperiments", "SpacerCore", "SpacerIO", "SpacerSimulator", "SpacerStrategies", "SpacerTestSupport"]),
        .testTarget(name: "SpacerSolversTests", dependencies: ["SpacerCore", "SpacerSolvers", "SpacerSimulator", "SpacerStrategies", "SpacerTestSupport"]),
    ]
)
