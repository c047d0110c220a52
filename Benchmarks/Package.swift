// swift-tools-version:6.0
// Benchmarks for spacer-sim (measurements, not tests): the solver strategies, placement and
// scoring throughput at scale. A package of its own so that `swift build`/`swift test` of the main
// package never build it. Run from this folder in release mode:
//   swift run -c release spacer-bench binpack|strip|strategies|hard|order|scale|synth|compare|series|measure|all …
// (the header of Sources/spacer-bench/main.swift lists every mode and option).
//
// `spacer-sim` here is a symlink to the repository root, so that the path dependency has the
// identity `spacer-sim` whatever the checkout's folder is called.
import PackageDescription

let package = Package(
    name: "spacer-benchmarks",
    dependencies: [
        .package(path: "spacer-sim"),
    ],
    targets: [
        .executableTarget(name: "spacer-bench", dependencies: [
            .product(name: "SpacerCore", package: "spacer-sim"),
            .product(name: "SpacerELF", package: "spacer-sim"),
            .product(name: "SpacerIO", package: "spacer-sim"),
            .product(name: "SpacerSimulator", package: "spacer-sim"),
            .product(name: "SpacerSolvers", package: "spacer-sim"),
            .product(name: "SpacerStrategies", package: "spacer-sim"),
            .product(name: "SpacerSynth", package: "spacer-sim"),
            .product(name: "SpacerExperiments", package: "spacer-sim"),
            .product(name: "SpacerTestSupport", package: "spacer-sim"),
        ]),
    ]
)
