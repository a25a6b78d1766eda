// The Uppy 6 bundle for the browser tests: esbuild turns this into one IIFE script
// (`uppy.js`, see build.mjs) that sets these globals. harness.js drives them.
import AwsS3 from '@uppy/aws-s3';
import Uppy from '@uppy/core';

window.Uppy = Uppy;
window.AwsS3 = AwsS3;
window.UppyVersions = { core: Uppy.VERSION, awsS3: AwsS3.VERSION };
