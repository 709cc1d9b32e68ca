// Public API of @noetl/dsl. 
