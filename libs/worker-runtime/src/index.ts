// Public API of @noetl/worker-runtime. 
