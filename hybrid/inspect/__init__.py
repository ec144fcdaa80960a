"""Tools for people to see what their models do: alignment tables and corpus statistics."""
