// Root jest config: every lib and app project in one run (what CI and the README run).
const fs = require('fs');
const path = require('path');
const projects = ['libs', 'apps'].flatMap((dir) =>
  fs.existsSync(path.join(__dirname, dir))
    ? fs.readdirSync(path.join(__dirname, dir))
        .map((name) => path.join(__dirname, dir, name, 'jest.config.js'))
        .filter((f) => fs.existsSync(f))
    : [],
);
// testTimeout is a global option (ignored inside projects): set it here for the combined run.
module.exports = { projects, testTimeout: 60000 };
