"""The programme's rules as data: YAML files with effective dates, validated on load."""
