import SpacerCLI

SpacerSimCommand.mainWithSuggestions()
