// Simulator: see Simulator.swift
