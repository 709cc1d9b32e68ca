// Public API of @noetl/template. 
