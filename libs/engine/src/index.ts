// Public API of @noetl/engine. 
