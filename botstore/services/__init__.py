"""The economy: rules and money. Knows no HTTP, XML or templates; raises domain errors."""
