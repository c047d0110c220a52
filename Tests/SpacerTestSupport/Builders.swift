import SpacerCore
