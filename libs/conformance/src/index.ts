// Public API of @noetl/conformance. 
