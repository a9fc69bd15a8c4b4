"""The circuitc grammar files, shipped inside the wheel as package data of circuitc.grammars."""
