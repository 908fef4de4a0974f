DROP TABLE spare_schemas;
