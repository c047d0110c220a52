import SpacerCore
// ELF64 reader: see ELFFile.swift, Extractor.swift (being written).
