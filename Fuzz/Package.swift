// swift-tools-version:6.0
// libFuzzer targets for spacer-sim's input readers. Not part of the main package: they need
// `-sanitize=fuzzer` (libFuzzer provides `main`). Build and run them with scripts/fuzz.sh.
//
// `spacer-sim` here is a symlink to the repository root, so that the path dependency has the
// identity `spacer-sim` whatever the checkout's folder is called.
import PackageDescription

let package = Package(
    name: "spacer-fuzz",
    dependencies: [
        .package(path: "spacer-sim"),
    ],
    targets: [
        // Checks shared by the targets: what a well-formed error message looks like.
        .target(name: "FuzzSupport", dependencies: [.product(name: "SpacerCore", package: "spacer-sim")]),
        // ELF objects and ar archives -> ELFExtractor -> rendered table -> TableCSV round trip.
        .executableTarget(name: "fuzz-elf", dependencies: [
            "FuzzSupport",
            .product(name: "SpacerCore", package: "spacer-sim"),
            .product(name: "SpacerELF", package: "spacer-sim"),
            .product(name: "SpacerIO", package: "spacer-sim"),
        ]),
        // Function-table and workload CSV (plain or gzip) -> readers -> workload -> strategies -> simulator.
        .executableTarget(name: "fuzz-table", dependencies: [
            "FuzzSupport",
            .product(name: "SpacerCore", package: "spacer-sim"),
            .product(name: "SpacerIO", package: "spacer-sim"),
            .product(name: "SpacerSimulator", package: "spacer-sim"),
            .product(name: "SpacerStrategies", package: "spacer-sim"),
        ]),
        // Linked executables (program headers) -> ELFExecutable -> PageMeasure, against a naive
        // page assembler.
        .executableTarget(name: "fuzz-measure", dependencies: [
            "FuzzSupport",
            .product(name: "SpacerCore", package: "spacer-sim"),
            .product(name: "SpacerELF", package: "spacer-sim"),
        ]),
        // The place --emit-ld path with hostile image names and symbols: ELFWriter object ->
        // extraction -> name checks -> LinkEmitter -> EmitFolder, in a scratch tree.
        .executableTarget(name: "fuzz-emit", dependencies: [
            "FuzzSupport",
            .product(name: "SpacerCore", package: "spacer-sim"),
            .product(name: "SpacerELF", package: "spacer-sim"),
            .product(name: "SpacerIO", package: "spacer-sim"),
            .product(name: "SpacerStrategies", package: "spacer-sim"),
        ]),
    ]
)
