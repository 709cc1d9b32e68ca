module.exports = { ...require('../../jest.preset.js'), displayName: 'scope', rootDir: __dirname };
