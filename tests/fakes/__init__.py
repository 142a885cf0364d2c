"""Hand-written stand-ins, for where moto does not serve: the delivery engine's ports in memory
(memory_store: benchmarks and engine unit tests measure the engine, not a database) and a DynamoDB
endpoint answering from memory at the HTTP layer (dynamo_http: benchmarks of request counts and
cold start). AWS services are otherwise faked by moto only."""
