module.exports = { ...require('../../jest.preset.js'), displayName: 'dsl', rootDir: __dirname };
