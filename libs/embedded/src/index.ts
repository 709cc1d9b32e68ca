// Public API of @noetl/embedded. 
