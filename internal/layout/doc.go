// Package layout has no code: its test keeps the package diagram in the
// README's Layout section true to the imports.
package layout
