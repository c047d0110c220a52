import SpacerCLI

SpacerSimCommand.main()
