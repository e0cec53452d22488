import{Q as e,ot as t}from"./index-BkDzdVtl.js";function n(e){if(typeof e!=`string`)return e;let t=e.trim();if(t.startsWith(`{`)||t.startsWith(`[`))try{return JSON.parse(t)}catch{return}}function r(n,i){let a=`  `.repeat(i);if(n===null)return e(`span`,{class:`j-null`,children:`null`});if(typeof n==`string`)return e(`span`,{class:`j-str`,children:JSON.stringify(n)});if(typeof n==`number`)return e(`span`,{class:`j-num`,children:n});if(typeof n==`boolean`)return e(`span`,{class:`j-bool`,children:String(n)});if(Array.isArray(n))return n.length?e(t,{children:[`[
`,n.map((o,s)=>e(t,{children:[a+`  `,r(o,i+1),s<n.length-1?`,
`:`
`]})),a+`]`]}):`[]`;let o=Object.entries(n);return o.length?e(t,{children:[`{
`,o.map(([n,s],c)=>e(t,{children:[a+`  `,e(`span`,{class:`j-key`,children:JSON.stringify(n)}),`: `,r(s,i+1),c<o.length-1?`,
`:`
`]})),a+`}`]}):`{}`}function i({value:t}){return e(`pre`,{class:`json`,children:r(t,0)})}export{n,i as t};